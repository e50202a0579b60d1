"""Merchant cleansing and categorisation: the directory, the category taxonomy and the engine."""

"""Packaged reference data (merchant directory, institutions, MCC list, KLI registry...)."""

"""Ingestion of the FI feeds: schemas, validation, masking, quarantine, the lake writers."""

"""Bulk import of registry and credit-record files: read, validate row by row, upsert in chunks.

Nothing valid is lost because of an invalid row; nothing invalid gets in; a file that cannot be
read writes nothing; the whole file is one transaction, so a crash leaves no half import.
"""

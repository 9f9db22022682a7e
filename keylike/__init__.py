"""keylike: read a house key from a photo."""

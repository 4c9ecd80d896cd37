"""LandDesk: decision-support analytics for land-and-resources bureaus."""
__version__ = "0.1.0"

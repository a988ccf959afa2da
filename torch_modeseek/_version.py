__version__ = "0.1.0"
"""The package version (PEP 440), as in its distribution metadata."""

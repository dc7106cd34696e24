"""sfexit: take a company out of a Salesforce org safely."""

__version__ = "0.1.0"

"""Development and test services: the local login provider, SMTP and SMS fakes, demo data."""

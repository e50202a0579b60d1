"""Partners (the FIs a Sightline instance serves), their API keys and bearer tokens."""

"""The `landdesk` command line: the roof of the house, calling etl, service and briefing."""

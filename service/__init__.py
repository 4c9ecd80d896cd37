"""The service layer: who is asking (auth), what they may see (access), what was read (audit), and the one
door every caller takes to a result (results)."""

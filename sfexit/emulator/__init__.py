"""The org emulator: a Salesforce org on loopback. sfexit's library code never imports it."""

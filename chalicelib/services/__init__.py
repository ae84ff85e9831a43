"""Business services: what a handler or a job calls. They apply rules and use store and adapters."""

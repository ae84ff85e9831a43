"""The HTTP conventions of CONTRACT section 2 as shared code: every handler goes through `api.Api`."""

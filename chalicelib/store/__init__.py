"""Storage: PynamoDB models (one table per business area) and the repository functions that use them.

Import the model modules through :func:`chalicelib.store.base.all_models` so every table is known.
"""

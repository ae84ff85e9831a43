"""The base of every request/response model: its pydantic schema is built on first use, not at import.

A Lambda cold start imports every handler module; building ~200 validators then cost more than importing chalice,
boto3, pynamodb and pydantic together (issue 18). With ``defer_build`` a model's validator and serializer are built
the first time it parses, dumps or describes itself (``/v1/openapi.json``), once per process. Subclasses' own
``model_config`` merges with this one.
"""

from pydantic import BaseModel as _PydanticModel
from pydantic import ConfigDict


class BaseModel(_PydanticModel):
    model_config = ConfigDict(defer_build=True)

"""IR: the language-neutral model of the contract, its builder and its validator."""

from concord_codegen.ir.build import build_api
from concord_codegen.ir.model import Api
from concord_codegen.ir.validate import validate

__all__ = ["Api", "build_api", "validate"]

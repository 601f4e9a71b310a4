"""The GraphQL schema (`graphql`), derived from the contract like the OpenAPI document."""

from __future__ import annotations

from concord_codegen.targets.graphql.target import TARGET

TARGETS = (TARGET,)

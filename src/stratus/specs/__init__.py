"""Azure ML v2 YAML specs, loaded unchanged: parsed, validated with errors naming the field, and resolved
against the YAML file's folder."""

from stratus.specs.loader import SpecError, load_spec, parse_spec
from stratus.specs.model import ModelSpec, load_model, model_from_fields

__all__ = ["ModelSpec", "SpecError", "load_model", "load_spec", "model_from_fields", "parse_spec"]

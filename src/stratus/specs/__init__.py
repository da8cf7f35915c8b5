"""Azure ML v2 YAML specs, loaded unchanged: parsed, validated with errors naming the field, and resolved
against the YAML file's folder."""

from stratus.specs.data import DataSpec, data_from_dict, data_from_fields, data_to_fields, load_data
from stratus.specs.datastore import (
    DATASTORE_SPECS,
    AzureBlobDatastoreSpec,
    AzureDataLakeGen2DatastoreSpec,
    DatastoreSpec,
    LocalDatastoreSpec,
    S3DatastoreSpec,
    datastore_from_dict,
    datastore_from_fields,
    datastore_to_fields,
    load_datastore,
    parse_datastore,
)
from stratus.specs.environment import (
    EnvironmentSpec,
    environment_from_dict,
    environment_from_fields,
    environment_to_fields,
    load_environment,
)
from stratus.specs.loader import SpecError, load_spec, parse_spec
from stratus.specs.model import ModelSpec, load_model, model_from_fields

__all__ = [
    "DATASTORE_SPECS",
    "AzureBlobDatastoreSpec",
    "AzureDataLakeGen2DatastoreSpec",
    "DataSpec",
    "DatastoreSpec",
    "EnvironmentSpec",
    "LocalDatastoreSpec",
    "ModelSpec",
    "S3DatastoreSpec",
    "SpecError",
    "data_from_dict",
    "data_from_fields",
    "data_to_fields",
    "datastore_from_dict",
    "datastore_from_fields",
    "datastore_to_fields",
    "environment_from_dict",
    "environment_from_fields",
    "environment_to_fields",
    "load_data",
    "load_datastore",
    "load_environment",
    "load_model",
    "load_spec",
    "model_from_fields",
    "parse_datastore",
    "parse_spec",
]

"""``python -m stratus.specs.schemas``: regenerate the shipped JSON schema files from the specs."""

from stratus.specs.schemas import write_schema_files

for path in write_schema_files():
    print(path)

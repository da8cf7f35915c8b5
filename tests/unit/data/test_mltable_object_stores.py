"""MLTable folders on real object stores: Azure Blob (Azurite, via adlfs) and S3 (moto, via s3fs)."""

from __future__ import annotations

from typing import Any

import pytest

from plugins.services import AzuriteService, MotoS3Service
from stratus.data import load_mltable, profile_table
from stratus.errors import InvalidInputError

MLTABLE = b"""\
type: mltable
paths:
  - pattern: ./data/**/*.csv
transformations:
  - read_delimited:
      delimiter: ','
      header: all_files_same_headers
      include_path_column: true
  - convert_column_types:
      - columns: code
        column_type: string
  - skip: 1
"""


def populate(fs: Any, folder: str) -> None:
    fs.pipe(
        {
            f"{folder}/MLTable": MLTABLE,
            f"{folder}/data/2024/a.csv": b"code,amount\n001,1.5\n002,2.5\n",
            f"{folder}/data/2024/b.csv": b"code,amount\n003,3.5\n",
            f"{folder}/data/2025/c.csv": b"code,amount\n004,4.5\n",
            f"{folder}/data/notes.txt": b"not matched by the pattern",
            f"{folder}/data/_SUCCESS": b"",
            f"{folder}-other/secret.csv": b"code,amount\n999,0\n",  # beside the table, not inside it
        }
    )


def check_table(fs: Any, folder: str, scheme: str) -> None:
    frame = load_mltable(fs, folder)
    assert frame.to_dict("list") == {
        "code": ["002", "003", "004"],
        "amount": [2.5, 3.5, 4.5],
        "Path": ["data/2024/a.csv", "data/2024/b.csv", "data/2025/c.csv"],
    }
    profile = profile_table(fs, folder, "mltable")
    assert (profile["rows"], profile["rows_exact"], profile["columns"]) == (3, True, 3)

    fs.pipe(
        f"{folder}/MLTable", b"paths:\n  - file: ../t1-other/secret.csv\ntransformations: [read_delimited]\n"
    )
    with pytest.raises(InvalidInputError, match="leaves the MLTable's folder") as info:
        load_mltable(fs, folder)
    assert info.value.field == "paths[0].file"

    # An absolute URI of the same store is read only below a root the caller allows.
    uri = f"{scheme}://{folder}-other/secret.csv"
    fs.pipe(f"{folder}/MLTable", f"paths:\n  - file: {uri}\ntransformations: [read_delimited]\n".encode())
    with pytest.raises(InvalidInputError, match="outside the MLTable's folder"):
        load_mltable(fs, folder)
    allowed = load_mltable(fs, folder, allowed_roots=[f"{folder}-other"])
    assert allowed["code"].tolist() == [999]


@pytest.mark.azurite
def test_mltable_on_azure_blob(azurite: AzuriteService, azure_container: str) -> None:
    from adlfs import AzureBlobFileSystem

    fs = AzureBlobFileSystem(
        connection_string=azurite.connection_string, use_listings_cache=False, skip_instance_cache=True
    )
    folder = f"{azure_container}/tables/t1"
    populate(fs, folder)
    check_table(fs, folder, "az")


@pytest.mark.s3
def test_mltable_on_s3(moto_s3: MotoS3Service, s3_bucket: str) -> None:
    from s3fs import S3FileSystem

    fs = S3FileSystem(
        endpoint_url=moto_s3.endpoint_url,
        key=moto_s3.access_key_id,
        secret=moto_s3.secret_access_key,
        client_kwargs={"region_name": moto_s3.region},
        use_listings_cache=False,
        skip_instance_cache=True,
    )
    folder = f"{s3_bucket}/tables/t1"
    populate(fs, folder)
    check_table(fs, folder, "s3")

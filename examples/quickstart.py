"""Quick start with the SDK: create a workspace, give a user a role and a token, print the tracking URI.

Run against a server started with `make run` (it finds the local admin token by itself):

    .venv/bin/python examples/quickstart.py --workspace demo
"""

from __future__ import annotations

import argparse
import contextlib

from stratus import MLClient, Workspace
from stratus.errors import ConflictError


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workspace", default="demo")
    parser.add_argument("--user", default="demo-user")
    args = parser.parse_args()

    with MLClient(workspace_name=args.workspace) as ml_client:
        # Running the example twice is fine: what exists already is kept.
        with contextlib.suppress(ConflictError):
            ml_client.workspaces.begin_create(Workspace(name=args.workspace, description="Quick start"))
        with contextlib.suppress(ConflictError):
            ml_client.users.create(args.user)
        ml_client.role_assignments.create(args.user, "Data Scientist")
        token = ml_client.tokens.create(user=args.user, workspace_name=args.workspace, expires_in="1d")
        workspace = ml_client.workspaces.get()
        print(f"workspace:    {workspace.name}")
        print(f"tracking URI: {workspace.mlflow_tracking_uri}")
        print(f"token for {args.user} (shown once): {token.token}")


if __name__ == "__main__":
    main()

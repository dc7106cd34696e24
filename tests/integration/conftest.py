"""Fixtures of the integration tests that need a server of their own beside the emulator."""

from az_support import az, azure_env, azurite, container
from gcs_support import gcs, gcs_bucket, gcs_endpoint, gcs_env
from s3_support import aws_env, bucket, s3, s3_endpoint, spool

__all__ = ["aws_env", "az", "azure_env", "azurite", "bucket", "container", "gcs", "gcs_bucket",
           "gcs_endpoint", "gcs_env", "s3", "s3_endpoint", "spool"]

"""Fixtures of the integration tests that need a server of their own beside the emulator."""

from s3_support import aws_env, bucket, s3, s3_endpoint

__all__ = ["aws_env", "bucket", "s3", "s3_endpoint"]

"""Wiring an AWS account to mailfate, checking it, and syncing the SES account-level suppression list.

``setup`` plans (pure), ``clients`` reads and calls AWS through boto3, ``doctor`` turns what it read into
findings, ``ses_suppression`` pushes and pulls suppressions.
"""

"""Deployment: the CloudFormation resources and IAM policies that `make package` merges into Chalice's output."""

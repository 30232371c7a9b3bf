#!/usr/bin/env bash
# Creates the builder's instance profile: a role EC2 can assume, with SSM (to receive the
# pull script) and read-only ECR (to mint pull tokens on the instance) attached.
# Usage: ./setup-instance-profile.sh [name]   (default: snapshot-builder-instance)
set -euo pipefail
name=${1:-snapshot-builder-instance}
here=$(cd "$(dirname "$0")" && pwd)

aws iam create-role --role-name "$name" \
  --assume-role-policy-document "file://$here/instance-role-trust-policy.json"
aws iam attach-role-policy --role-name "$name" \
  --policy-arn arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore
aws iam attach-role-policy --role-name "$name" \
  --policy-arn arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly
aws iam create-instance-profile --instance-profile-name "$name"
aws iam add-role-to-instance-profile --instance-profile-name "$name" --role-name "$name"
echo "Instance profile '$name' is ready; pass it as instance-profile."

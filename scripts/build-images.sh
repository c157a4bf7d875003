#!/usr/bin/env bash
# Builds one image per service (every directory of services/) from the Dockerfile and, with --kind <cluster>, loads them into kind.
#   scripts/build-images.sh [--tag TAG] [--kind CLUSTER]
# Needs a Docker engine (the e2e workflow has one; these machines do not).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tag="dev"
kind_cluster=""
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag=$2; shift 2 ;;
    --kind) kind_cluster=$2; shift 2 ;;
    *) echo "usage: $0 [--tag TAG] [--kind CLUSTER]" >&2; exit 2 ;;
  esac
done
command -v docker >/dev/null || { echo "build-images: docker is needed" >&2; exit 1; }
for dir in services/*/; do
  service=$(basename "$dir")
  docker build --build-arg SERVICE="$service" -t "strata-$service:$tag" .
  if [ -n "$kind_cluster" ]; then kind load docker-image "strata-$service:$tag" --name "$kind_cluster"; fi
done

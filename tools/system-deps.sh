#!/usr/bin/env bash
# Installs the system packages the tests need when they are missing (Debian image, as root):
# PostgreSQL server binaries, Java 17 for Spark; with --bench also wrk, the HTTP load generator
# the benchmarks drive. Prints what it installs; never asks a question.
set -euo pipefail
need=()
if [ "${1:-}" = "--bench" ]; then
  command -v wrk >/dev/null 2>&1 || need+=(wrk)
fi
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  need+=(postgresql)
fi
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${need[*]} (run as root or install them)" >&2
  exit 1
fi
echo "installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

#!/usr/bin/env bash
# Start PostgreSQL and RabbitMQ where they are installed on this machine and not yet answering,
# and the strict S3 (Ceph's RADOS Gateway, scripts/strict-s3.sh installs it as root when missing).
# Elsewhere, point MEDIA_TEST_DATABASE_URL / MEDIA_TEST_BROKER_URL / MEDIA_TEST_S3_URL at your own
# services (for example `docker compose up -d postgres rabbitmq minio`).
set -u

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 1; done
  echo "ensure-services: nothing answers on 127.0.0.1:$1 after 60 s" >&2
  return 1
}

if ! port_open 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "ensure-services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
    wait_port 5432 || exit 1
  else
    echo "ensure-services: PostgreSQL is not running on 127.0.0.1:5432 and not installed here" >&2
  fi
fi

if ! port_open 5672; then
  if command -v rabbitmq-server >/dev/null 2>&1; then
    echo "ensure-services: starting RabbitMQ"
    rabbitmq-server -detached
    wait_port 5672 || exit 1
  else
    echo "ensure-services: RabbitMQ is not running on 127.0.0.1:5672 and not installed here" >&2
  fi
fi
if [ -z "${MEDIA_TEST_S3_URL:-}" ]; then
  bash "$(dirname "$0")/strict-s3.sh" ensure >/dev/null || exit 1
fi
exit 0

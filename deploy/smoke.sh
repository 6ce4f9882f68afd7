#!/usr/bin/env bash
# A first customer's journey through the storefront API (README.md, "A first order
# through the API"): register, sign in, find a product, place an order, and wait until the
# order is confirmed (orders asks catalog over Kafka, so this crosses every service, the
# database and the broker). Exits non-zero, saying where, if any step fails.
#
#   deploy/smoke.sh [BASE_URL]        default http://localhost:8080
#
# Used by .github/workflows/images.yml against docker compose and against a kind cluster
# (through `kubectl port-forward svc/storefront 8080:8080`). Needs curl and jq.
set -euo pipefail

base="${1:-http://localhost:8080}"
timeout_s="${SMOKE_TIMEOUT_SECONDS:-90}"
email="smoke-$(date +%s)-$RANDOM@example.com"
password="correct horse battery staple"

step() { printf '==> %s\n' "$*"; }
fail() { printf 'smoke: %s\n' "$*" >&2; exit 1; }
api() { curl -fsS --max-time 10 -H 'content-type: application/json' "$@"; }

step "storefront ready at $base"
for _ in $(seq 1 30); do
    curl -fsS --max-time 5 "$base/health/ready" >/dev/null 2>&1 && break
    sleep 2
done
curl -fsS --max-time 5 "$base/health/ready" >/dev/null || fail "$base/health/ready does not answer 200"

step "register $email"
api "$base/api/users" -d "{\"email\":\"$email\",\"password\":\"$password\",\"name\":\"Smoke Test\"}" >/dev/null \
    || fail "registration failed"

step "sign in"
token="$(api "$base/api/sessions" -d "{\"email\":\"$email\",\"password\":\"$password\"}" | jq -er .access_token)" \
    || fail "sign-in gave no access_token"

step "find a product"
product="$(curl -fsS --max-time 10 "$base/api/products?q=coffee" | jq -er '.items[0].id')" \
    || fail "no product found for q=coffee (is the demo catalog seeded?)"

step "place an order for $product"
order="$(api "$base/api/orders" -H "authorization: Bearer $token" \
    -H "idempotency-key: smoke-$email" \
    -d "{\"items\":[{\"product_id\":\"$product\",\"quantity\":1}]}" | jq -er .id)" \
    || fail "placing the order failed"

step "wait for order $order to be confirmed (at most ${timeout_s}s)"
deadline=$((SECONDS + timeout_s))
status=""
while ((SECONDS < deadline)); do
    status="$(curl -fsS --max-time 10 -H "authorization: Bearer $token" "$base/api/orders/$order" | jq -r .status)" || status="?"
    case "$status" in
        confirmed) step "order $order confirmed"; exit 0 ;;
        rejected | cancelled) fail "order $order is $status" ;;
    esac
    sleep 2
done
fail "order $order still '$status' after ${timeout_s}s"

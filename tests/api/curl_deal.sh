#!/usr/bin/env bash
# A client in another language: curl opens a deal and moves it through the HTTP API.
# Needs: BASE (the API's URL), DEALFLOW (the dealflow command, to mint a token), DEAL (a new id).
set -euo pipefail
TOKEN=$("$DEALFLOW" token --person an.li)
api() { # METHOD PATH [JSON]: print the body; fail on any status >= 400
  curl -sS --fail-with-body -X "$1" "$BASE$2" -H "Authorization: Bearer $TOKEN" \
       -H 'Content-Type: application/json' -H "Idempotency-Key: $DEAL-$1-${2//\//_}" ${3:+--data "$3"}
  echo
}
api POST /v1/opportunities "{\"opportunity_id\": \"$DEAL\", \"company\": \"Acme\", \"contact_person\": \"Wang Li\", \"source\": \"referral\", \"amount\": 120000}"
api POST "/v1/opportunities/$DEAL/advance" '{"to_stage": "contact", "facts": {"first_touch": "call"}}'
api GET "/v1/opportunities/$DEAL" | grep -o '"stage":"contact"' | head -1
# A refusal is a problem+json document with the rule's name, and status 409.
code=$(curl -sS -o /dev/stderr -w '%{http_code}' -X POST "$BASE/v1/opportunities/$DEAL/advance" \
       -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data '{"to_stage": "deal"}')
echo "refused with $code"

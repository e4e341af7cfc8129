# Reads JSON in Tapedeck's scripts. Usage: . scripts/lib/json.sh

# Prints FIELD ($1) of the JSON on stdin; FIELD is a Python expression on `j`,
# e.g. json_field "j['sessions']".
json_field() { python3 -c "import json, sys; j = json.load(sys.stdin); print($1)"; }

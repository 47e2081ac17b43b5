#!/bin/sh
# Fails on purpose with exit status 3 after saying why.
echo "fail: about to fail"
echo "fail: something went wrong" >&2
exit 3

#!/bin/sh
# Holds ever more memory (tail keeps a newline-free "line" of zeros) until the limit kills it.
echo "memhog: eating memory"
head -c 1024m /dev/zero | tail

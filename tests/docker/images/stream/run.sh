#!/bin/sh
# Prints slowly, with carriage returns and broken UTF-8, to test line-by-line streaming.
echo "stream: first"
sleep 1
echo "stream: second"
printf 'progress 1\rprogress 2\r\nafter-crlf\n'
printf 'bad byte \377 here\n'
sleep 1
printf 'stream: last without newline'

#!/bin/bash
# Part of bench/keepalive_quick.sh.
# cpu.sh PID PORT: CPU microseconds of PID per request during a 4 s wrk run
pid=$1; port=$2
t0=$(awk '{print $14+$15}' /proc/$pid/stat)
n=$(wrk -t1 -c50 -d4s http://127.0.0.1:$port/ | awk '/requests in/ {print $1}')
t1=$(awk '{print $14+$15}' /proc/$pid/stat)
tck=$(getconf CLK_TCK)
echo "port $port: $n requests, $(( (t1-t0)*1000000/tck/ (n>0?n:1) )) us CPU/request, $((n/4)) req/s"

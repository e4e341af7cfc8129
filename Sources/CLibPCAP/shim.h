#ifndef TAPEDECK_CLIBPCAP_SHIM_H
#define TAPEDECK_CLIBPCAP_SHIM_H
#include <pcap/pcap.h>
#include <stdio.h>
#endif

# Vitis HLS flow for the fused DSA indexer (top dsa_indexer); run from hls/: vitis_hls -f tcl/dsa_indexer.tcl
source tcl/common.tcl
hetsim_hls dsa_indexer dsa_indexer
exit

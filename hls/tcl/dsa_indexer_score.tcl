# Vitis HLS flow for the score-only DSA indexer (top dsa_indexer_score, same source file);
# run from hls/: vitis_hls -f tcl/dsa_indexer_score.tcl
source tcl/common.tcl
hetsim_hls dsa_indexer dsa_indexer_score
exit

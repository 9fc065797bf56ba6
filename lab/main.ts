// Entry point of `weft-lab` (placeholder until the lab lands).
process.stderr.write("weft-lab: not implemented yet\n");
process.exit(1);

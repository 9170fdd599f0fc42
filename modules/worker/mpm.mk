SRC_worker := modules/worker/worker.c
modules/worker/mod_mpm_loom_worker.so: $(SRC_worker:.c=.o) $(CORE_LIB)

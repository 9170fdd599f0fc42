SRC_event := modules/event/event.c modules/event/event_conn.c modules/event/event_gate.c modules/event/event_headtime.c \
             modules/event/event_headwait.c
modules/event/mod_mpm_loom_event.so: $(SRC_event:.c=.o) $(CORE_LIB)

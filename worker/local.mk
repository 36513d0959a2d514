libdrover_a_SOURCES += worker/fcgi_record.c worker/fcgi_record.h

libdrover_a_SOURCES += worker/fcgi_record.c worker/fcgi_record.h \
	worker/worker.c worker/worker.h worker/conn.c worker/conn.h worker/request.h \
	worker/response.c worker/apphdr.c worker/appvars.c worker/appvars.h \
	worker/cgi.c worker/cgi.h worker/fastcgi.c worker/fastcgi.h \
	worker/session.c worker/session.h worker/chunked.c worker/chunked.h \
	worker/errlog.c worker/errlog.h worker/route.c worker/route.h \
	worker/forwarded.c worker/forwarded.h worker/http_syntax.c worker/http_syntax.h \
	worker/spawn.c worker/spawn.h worker/accesslog.c worker/accesslog.h \
	worker/overload.c worker/overload.h
libdrover_a_SOURCES += worker/fcgi_pool.c worker/fcgi_pool.h
libdrover_a_SOURCES += worker/site.c worker/site.h worker/static.c worker/static.h \
	worker/mime.c worker/mime.h worker/auth.c worker/auth.h
libdrover_a_SOURCES += worker/reqbody.c worker/reqbody.h

EXTRA_DIST += examples/cgi-bin/hello.cgi examples/cgi-bin/env.cgi examples/cgi-bin/counter.cgi

# The WSGI app of bench/run's reload and drain rows (Gunicorn and uWSGI).
# /slow sleeps 2 s so a request is in flight when the server is stopped.
import time


def app(environ, start_response):
    if environ.get('PATH_INFO') == '/slow':
        time.sleep(2)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'Hello from WSGI\n']

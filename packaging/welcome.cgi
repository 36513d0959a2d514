#!/bin/sh
# The placeholder page /etc/drover/conf.d/welcome.ini serves until an app is
# configured.
printf 'Content-Type: text/html; charset=utf-8\r\n\r\n'
[ "$REQUEST_METHOD" = HEAD ] && exit 0
cat <<'HTML'
<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>drover is running</title>
<style>body{font:16px/1.5 sans-serif;max-width:40em;margin:3em auto;padding:0 1em;color:#222}
code{background:#eee;padding:0 .2em}</style></head>
<body>
<h1>drover is running</h1>
<p>This placeholder page comes from <code>/etc/drover/conf.d/welcome.ini</code>.
To serve your application, configure <code>/etc/drover/conf.d/</code>:
replace <code>welcome.ini</code> with your app's <code>[app]</code> section
(examples in <code>/usr/share/drover/examples/sites/</code>), check it with
<code>drover -t</code>, then run <code>systemctl reload drover</code>.</p>
<p>Reference: <code>man drover.ini</code>, <code>man drover</code>, <code>man droverctl</code>.</p>
</body>
</html>
HTML

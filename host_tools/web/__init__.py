"""`needlepen web`: a local web page for a pen (live charts, controls, faults,
event log) and for the simulator, served by one process that owns the pen's
serial port; several browser tabs watch.  docs/web.md describes it.

    bridge.py    the one connection to the pen (a thread around host_tools.link.PenLink)
    server.py    the aiohttp application: page, assets, websocket fan-out
    simjobs.py   simulator runs in a child process
    virtual.py   --virtual: a virtual pen in a child process
    faults.py    what each fault means and how it clears (checked against docs/faults.md)
    command.py   the CLI subcommand
    static/      the page (index.html, app.js, style.css); plotly.min.js comes from the plotly package
"""

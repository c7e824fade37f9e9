local ch = channel()
spawn(function() ch:recv() end)
wait()

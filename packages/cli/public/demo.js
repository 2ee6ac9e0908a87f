// The demo page: a chat on `room/<name>` channels, a private channel for logged-in
// users, an echo round-trip display and live counters, on the socketcluster-client v14
// browser bundle (`/socketcluster.js` defines the `socketCluster` global).
;(() => {
  const $ = (id) => document.getElementById(id)
  const privateChannelName = "private/lounge"
  const socket = socketCluster.create({ path: document.body.dataset.scPath || "/socketcluster/" })

  let room
  let privateChannel

  const showError = (error) => {
    const box = $("error")
    box.textContent = error ? `${error.name || "Error"}: ${error.message || error}` : ""
    box.hidden = !error
  }

  const myName = () => {
    const token = socket.authToken
    return token?.username || $("nick").value.trim()
  }

  const appendMessage = (list, data) => {
    const item = document.createElement("li")
    const from = document.createElement("span")
    from.className = data.verified ? "from verified" : "from"
    from.textContent = data.from
    const text = document.createElement("span")
    text.className = "text"
    text.textContent = data.text
    const time = document.createElement("time")
    time.textContent = new Date(data.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    item.append(from, text, time)
    if (data.from === myName()) item.classList.add("mine")
    list.append(item)
    list.scrollTop = list.scrollHeight
  }

  const send = (channelName, input) => {
    socket.publish(channelName, { text: input.value, nick: $("nick").value }, (error) => {
      showError(error)
      if (!error) input.value = ""
    })
  }

  // Rooms -------------------------------------------------------------------------------
  const join = (name) => {
    if (room) {
      room.unwatch()
      room.unsubscribe()
    }
    $("messages").replaceChildren()
    room = socket.subscribe(`room/${name}`)
    room.watch((data) => appendMessage($("messages"), data))
    room.on("subscribe", () => {
      $("room-title").textContent = `# ${name}`
      $("message-input").disabled = false
      $("send").disabled = false
      $("message-input").focus()
      showError(null)
    })
    room.on("subscribeFail", (error) => showError(error))
  }

  $("join-form").addEventListener("submit", (event) => {
    event.preventDefault()
    const name = $("room").value.trim().toLowerCase() || "lobby"
    join(name)
  })
  $("send-form").addEventListener("submit", (event) => {
    event.preventDefault()
    if (room) send(room.name, $("message-input"))
  })

  // Login and the private channel ---------------------------------------------------------
  const openPrivate = () => {
    if (privateChannel) return
    privateChannel = socket.subscribe(privateChannelName)
    privateChannel.watch((data) => appendMessage($("private-messages"), data))
    privateChannel.on("subscribe", () => {
      $("private-panel").hidden = false
      $("private-locked").hidden = true
    })
    privateChannel.on("subscribeFail", (error) => showError(error))
  }
  const closePrivate = () => {
    if (privateChannel) {
      privateChannel.unwatch()
      privateChannel.unsubscribe()
      privateChannel = undefined
    }
    $("private-panel").hidden = true
    $("private-locked").hidden = false
    $("private-messages").replaceChildren()
  }
  const renderAuth = () => {
    const authenticated = socket.authState === "authenticated"
    $("login-form").hidden = authenticated
    $("whoami").hidden = !authenticated
    $("username").textContent = authenticated && socket.authToken ? socket.authToken.username : ""
    if (authenticated) openPrivate()
    else closePrivate()
  }

  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault()
    socket.emit("login", { username: $("login-name").value }, (error) => showError(error))
  })
  $("logout").addEventListener("click", () => socket.deauthenticate())
  $("private-form").addEventListener("submit", (event) => {
    event.preventDefault()
    send(privateChannelName, $("private-input"))
  })
  socket.on("authStateChange", renderAuth)

  // Connection, round trips and live counters --------------------------------------------
  const renderStats = (stats) => {
    $("stat-connections").textContent = stats.connections
    $("stat-messages").textContent = stats.messages
    $("stat-channels").textContent = stats.channels
    const s = stats.uptimeSeconds
    $("stat-uptime").textContent = s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m` : `${Math.floor(s / 3600)}h`
  }
  // Under --workers every process publishes its own counters: show this page's process only.
  let myWorker = null
  socket.subscribe("stats").watch((stats) => {
    if (stats.worker === myWorker) renderStats(stats)
  })

  const setStatus = (text, on) => {
    $("status").textContent = text
    $("status").className = on ? "pill pill-on" : "pill pill-off"
  }
  socket.on("connect", () => {
    setStatus("connected", true)
    socket.emit("stats", null, (error, stats) => {
      if (error) return
      myWorker = stats.worker
      $("worker").textContent = myWorker === null ? "" : `worker ${myWorker}`
      renderStats(stats)
    })
    renderAuth()
    measureRoundTrip()
  })
  socket.on("close", () => setStatus("offline", false))
  socket.on("error", () => {})

  const measureRoundTrip = () => {
    if (socket.state !== "open") return
    const start = performance.now()
    socket.emit("echo", start, (error) => {
      if (!error) $("rtt").textContent = `${(performance.now() - start).toFixed(1)} ms`
    })
  }
  setInterval(measureRoundTrip, 2000)
})()

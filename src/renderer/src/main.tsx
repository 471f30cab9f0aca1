import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
// The theme and base styles come first: every component's stylesheet builds on them.
import './styles/emoji-font.css'
import './styles/global.css'
import { App } from './App.tsx'

const root = document.getElementById('root')
if (!root) throw new Error('index.html has no #root element')
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
